// Package archtest holds the test that keeps Ordermill's imports pointing one
// way: domain ← eventstore ← relay/bus ← app ← api/workers ← cmd (see
// docs/architecture.md). It has no code of its own.
package archtest
