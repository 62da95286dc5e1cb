// placeholder: tests for value arrive shortly
#include <gtest/gtest.h>
