// placeholder: tests for hooks arrive shortly
#include <gtest/gtest.h>
