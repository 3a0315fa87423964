// Package sql owns OpenMLDB's SQL dialect for the online cluster: a
// hand-written lexer and parser (errors name line, column and the token
// expected), the AST, expression evaluation, and an executor that runs
// statements against a cluster through the public Go SDK. It never talks
// to tablets or etcd directly except through the SDK's accessors, and it
// holds no state besides a Session (current database, variables), so any
// number of sql_clients and apiservers can share a cluster.
package sql
