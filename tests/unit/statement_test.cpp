// placeholder: tests for statement arrive shortly
#include <gtest/gtest.h>
