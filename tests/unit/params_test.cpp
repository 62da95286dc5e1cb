// placeholder: tests for params arrive shortly
#include <gtest/gtest.h>
