# Empty dependencies file for ncsn.
# This may be replaced when dependencies are built.
