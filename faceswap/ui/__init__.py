"""``faceswap ui``: a local web app over the CLI's own jobs and files (no pipeline logic here)."""
