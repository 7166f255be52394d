file(REMOVE_RECURSE
  "libncsn_core.a"
)
