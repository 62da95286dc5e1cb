// placeholder: tests for bad_input arrive shortly
#include <gtest/gtest.h>
