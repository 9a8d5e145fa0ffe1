// Package testutil holds helpers shared by the tests of every package: the
// test images (Image, ImageLayout: built from busybox-static and generated
// files, or the corpus's real ones when CTRLITE_CORPUS is set), Skipf and
// the Require checks (a skip fails the test under CI=true), a real registry
// server started on 127.0.0.1, a fault-injecting proxy, and builders for
// synthetic layers.
package testutil
