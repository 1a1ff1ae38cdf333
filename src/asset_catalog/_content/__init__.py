"""Content inspection: sniffing types, image headers and filenames."""
