// placeholder: tests for error arrive shortly
#include <gtest/gtest.h>
