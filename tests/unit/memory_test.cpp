// placeholder: tests for memory arrive shortly
#include <gtest/gtest.h>
