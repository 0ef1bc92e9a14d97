#!/bin/sh
# Never says hello.
exec sleep 600
