"""One module per page of the owner's app."""
