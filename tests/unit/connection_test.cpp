// placeholder: tests for connection arrive shortly
#include <gtest/gtest.h>
