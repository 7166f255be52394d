file(REMOVE_RECURSE
  "CMakeFiles/ncsn_core.dir/src/cmd_techniques.c.o"
  "CMakeFiles/ncsn_core.dir/src/cmd_techniques.c.o.d"
  "CMakeFiles/ncsn_core.dir/src/common.c.o"
  "CMakeFiles/ncsn_core.dir/src/common.c.o.d"
  "CMakeFiles/ncsn_core.dir/src/config.c.o"
  "CMakeFiles/ncsn_core.dir/src/config.c.o.d"
  "CMakeFiles/ncsn_core.dir/src/data.c.o"
  "CMakeFiles/ncsn_core.dir/src/data.c.o.d"
  "CMakeFiles/ncsn_core.dir/src/io.c.o"
  "CMakeFiles/ncsn_core.dir/src/io.c.o.d"
  "CMakeFiles/ncsn_core.dir/src/metrics.c.o"
  "CMakeFiles/ncsn_core.dir/src/metrics.c.o.d"
  "CMakeFiles/ncsn_core.dir/src/model.c.o"
  "CMakeFiles/ncsn_core.dir/src/model.c.o.d"
  "CMakeFiles/ncsn_core.dir/src/noise.c.o"
  "CMakeFiles/ncsn_core.dir/src/noise.c.o.d"
  "CMakeFiles/ncsn_core.dir/src/rng.c.o"
  "CMakeFiles/ncsn_core.dir/src/rng.c.o.d"
  "CMakeFiles/ncsn_core.dir/src/run.c.o"
  "CMakeFiles/ncsn_core.dir/src/run.c.o.d"
  "CMakeFiles/ncsn_core.dir/src/sample.c.o"
  "CMakeFiles/ncsn_core.dir/src/sample.c.o.d"
  "CMakeFiles/ncsn_core.dir/src/techniques.c.o"
  "CMakeFiles/ncsn_core.dir/src/techniques.c.o.d"
  "CMakeFiles/ncsn_core.dir/src/train.c.o"
  "CMakeFiles/ncsn_core.dir/src/train.c.o.d"
  "libncsn_core.a"
  "libncsn_core.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/ncsn_core.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
