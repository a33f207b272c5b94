"""Built-in colour transfers: match a swapped face's colours to the face it replaces."""
