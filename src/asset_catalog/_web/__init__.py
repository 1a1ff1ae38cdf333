"""What the web adapters share, whatever the framework: problem details, request parsing,
conditional and ranged downloads, and the Images / Files page (its files are in ``page/``)."""
