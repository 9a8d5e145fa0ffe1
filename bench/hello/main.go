// Command hello is the start-up floor of the benchmark: a static Go
// program that prints one line. `ctr-lite --version` is measured against
// it in the same run (bench/run.sh, task startup).
package main

import "fmt"

func main() { fmt.Println("hello") }
