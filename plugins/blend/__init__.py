"""Built-in blenders: put a face, already warped into the frame, under its mask."""
