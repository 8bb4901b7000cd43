#!/usr/bin/env python3
"""Independent reference for strand's RNG: splitmix64 seeding as printed in tests/test_core_basics.c."""
M = (1 << 64) - 1
def splitmix64(x):
    x = (x + 0x9e3779b97f4a7c15) & M
    z = x
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
    return x, z ^ (z >> 31)
x = 0
for i in range(4):
    x, v = splitmix64(x)
    print(f"s[{i}] = 0x{v:016x}")
