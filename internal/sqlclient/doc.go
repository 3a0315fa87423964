// Package sqlclient is --role=sql_client: OpenMLDB's SQL shell. With
// --cmd it runs a script and exits non-zero on the first failed statement;
// otherwise it reads statements (multi-line, ending in ;) from a prompt
// with line editing and history, or from piped input. All SQL work is done
// by internal/sql.
package sqlclient
