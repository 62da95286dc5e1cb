// placeholder: tests for transaction arrive shortly
#include <gtest/gtest.h>
