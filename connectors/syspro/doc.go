// Package syspro is Payhub's typed client for SYSPRO's e.net Solutions REST service
// (/SYSPROWCFService/Rest): XML business objects over GET, answered with HTTP 200 whether they
// succeed or fail. It owns the whole wire contract — session pool, request XML, Windows-1252
// response parsing and the one place where SYSPRO's failures are classified — so callers see
// typed results and *Error values, never raw XML or "ERROR:" strings.
//
// The client never logs. Credentials travel in the Logon query string, so every error that could
// carry a URL has its query string removed before it leaves this package.
package syspro
