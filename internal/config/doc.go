// Package config owns the command line: gflags-style --name=value flags,
// --flagfile expansion, per-role defaults and validation of every flag value.
// It knows nothing about what the roles do with their configuration.
package config
