file(REMOVE_RECURSE
  "CMakeFiles/ncsn.dir/src/main.c.o"
  "CMakeFiles/ncsn.dir/src/main.c.o.d"
  "ncsn"
  "ncsn.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/ncsn.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
