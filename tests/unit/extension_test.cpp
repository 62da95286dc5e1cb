// placeholder: tests for extension arrive shortly
#include <gtest/gtest.h>
