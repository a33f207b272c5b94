"""People in face sets: tracks clustered by identity, named, and selected for training and merge."""
