// placeholder: tests for database arrive shortly
#include <gtest/gtest.h>
