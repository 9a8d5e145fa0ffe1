// Package testutil holds helpers shared by the tests of every package: the
// corpus location, root checks, a real registry server started on
// 127.0.0.1, a fault-injecting proxy, and builders for synthetic layers.
package testutil
