# CMake generated Testfile for 
# Source directory: /work/main
# Build directory: /work/main/build
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[test_config]=] "/work/main/build/test_config")
set_tests_properties([=[test_config]=] PROPERTIES  ENVIRONMENT "NCSN_BIN=/work/main/build/ncsn;NCSN_SOURCE_DIR=/work/main" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;68;add_test;/work/main/CMakeLists.txt;0;")
add_test([=[test_io]=] "/work/main/build/test_io")
set_tests_properties([=[test_io]=] PROPERTIES  ENVIRONMENT "NCSN_BIN=/work/main/build/ncsn;NCSN_SOURCE_DIR=/work/main" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;68;add_test;/work/main/CMakeLists.txt;0;")
add_test([=[test_metrics]=] "/work/main/build/test_metrics")
set_tests_properties([=[test_metrics]=] PROPERTIES  ENVIRONMENT "NCSN_BIN=/work/main/build/ncsn;NCSN_SOURCE_DIR=/work/main" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;68;add_test;/work/main/CMakeLists.txt;0;")
add_test([=[test_model]=] "/work/main/build/test_model")
set_tests_properties([=[test_model]=] PROPERTIES  ENVIRONMENT "NCSN_BIN=/work/main/build/ncsn;NCSN_SOURCE_DIR=/work/main" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;68;add_test;/work/main/CMakeLists.txt;0;")
add_test([=[test_sample]=] "/work/main/build/test_sample")
set_tests_properties([=[test_sample]=] PROPERTIES  ENVIRONMENT "NCSN_BIN=/work/main/build/ncsn;NCSN_SOURCE_DIR=/work/main" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;68;add_test;/work/main/CMakeLists.txt;0;")
add_test([=[test_techniques]=] "/work/main/build/test_techniques")
set_tests_properties([=[test_techniques]=] PROPERTIES  ENVIRONMENT "NCSN_BIN=/work/main/build/ncsn;NCSN_SOURCE_DIR=/work/main" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;68;add_test;/work/main/CMakeLists.txt;0;")
add_test([=[cli_run]=] "bash" "/work/main/tests/cli/run.sh")
set_tests_properties([=[cli_run]=] PROPERTIES  ENVIRONMENT "NCSN_BIN=/work/main/build/ncsn;NCSN_SOURCE_DIR=/work/main;PYTHON=/usr/bin/python3" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;77;add_test;/work/main/CMakeLists.txt;0;")
add_test([=[cli_techniques]=] "bash" "/work/main/tests/cli/techniques.sh")
set_tests_properties([=[cli_techniques]=] PROPERTIES  ENVIRONMENT "NCSN_BIN=/work/main/build/ncsn;NCSN_SOURCE_DIR=/work/main;PYTHON=/usr/bin/python3" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;77;add_test;/work/main/CMakeLists.txt;0;")
