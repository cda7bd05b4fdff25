// Package connectors is the parent of one package per outside system (syspro, opayo, cybersource):
// each a typed client for that system's real wire protocol, its webhook or notification
// verification and its error classification, with no database and no canonical types. Each
// connector's simulator lives beside it in <system>sim and is never imported by production code.
package connectors
