// placeholder: tests for threads arrive shortly
#include <gtest/gtest.h>
