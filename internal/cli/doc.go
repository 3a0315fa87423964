// Package cli owns what the command-line clients share: OpenMLDB-style
// table printing, human-readable ages and the read-eval loop of the
// interactive prompt. It holds no command logic.
package cli
