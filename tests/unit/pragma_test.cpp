// placeholder: tests for pragma arrive shortly
#include <gtest/gtest.h>
