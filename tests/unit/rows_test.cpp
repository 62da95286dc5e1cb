// placeholder: tests for rows arrive shortly
#include <gtest/gtest.h>
