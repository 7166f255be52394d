
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/cmd_techniques.c" "CMakeFiles/ncsn_core.dir/src/cmd_techniques.c.o" "gcc" "CMakeFiles/ncsn_core.dir/src/cmd_techniques.c.o.d"
  "/work/main/src/common.c" "CMakeFiles/ncsn_core.dir/src/common.c.o" "gcc" "CMakeFiles/ncsn_core.dir/src/common.c.o.d"
  "/work/main/src/config.c" "CMakeFiles/ncsn_core.dir/src/config.c.o" "gcc" "CMakeFiles/ncsn_core.dir/src/config.c.o.d"
  "/work/main/src/data.c" "CMakeFiles/ncsn_core.dir/src/data.c.o" "gcc" "CMakeFiles/ncsn_core.dir/src/data.c.o.d"
  "/work/main/src/io.c" "CMakeFiles/ncsn_core.dir/src/io.c.o" "gcc" "CMakeFiles/ncsn_core.dir/src/io.c.o.d"
  "/work/main/src/metrics.c" "CMakeFiles/ncsn_core.dir/src/metrics.c.o" "gcc" "CMakeFiles/ncsn_core.dir/src/metrics.c.o.d"
  "/work/main/src/model.c" "CMakeFiles/ncsn_core.dir/src/model.c.o" "gcc" "CMakeFiles/ncsn_core.dir/src/model.c.o.d"
  "/work/main/src/noise.c" "CMakeFiles/ncsn_core.dir/src/noise.c.o" "gcc" "CMakeFiles/ncsn_core.dir/src/noise.c.o.d"
  "/work/main/src/rng.c" "CMakeFiles/ncsn_core.dir/src/rng.c.o" "gcc" "CMakeFiles/ncsn_core.dir/src/rng.c.o.d"
  "/work/main/src/run.c" "CMakeFiles/ncsn_core.dir/src/run.c.o" "gcc" "CMakeFiles/ncsn_core.dir/src/run.c.o.d"
  "/work/main/src/sample.c" "CMakeFiles/ncsn_core.dir/src/sample.c.o" "gcc" "CMakeFiles/ncsn_core.dir/src/sample.c.o.d"
  "/work/main/src/techniques.c" "CMakeFiles/ncsn_core.dir/src/techniques.c.o" "gcc" "CMakeFiles/ncsn_core.dir/src/techniques.c.o.d"
  "/work/main/src/train.c" "CMakeFiles/ncsn_core.dir/src/train.c.o" "gcc" "CMakeFiles/ncsn_core.dir/src/train.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
