# Empty dependencies file for ncsn_core.
# This may be replaced when dependencies are built.
