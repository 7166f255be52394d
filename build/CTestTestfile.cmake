# CMake generated Testfile for 
# Source directory: /work/main
# Build directory: /work/main/build
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[test_model]=] "/work/main/build/test_model")
set_tests_properties([=[test_model]=] PROPERTIES  ENVIRONMENT "NCSN_BIN=/work/main/build/ncsn;NCSN_SOURCE_DIR=/work/main" _BACKTRACE_TRIPLES "/work/main/CMakeLists.txt;66;add_test;/work/main/CMakeLists.txt;0;")
