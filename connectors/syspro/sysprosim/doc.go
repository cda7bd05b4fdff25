// Package sysprosim is an in-process SYSPRO e.net REST service with real state, for tests, the
// sandbox and the demo. It follows ../shared/protocols/syspro.md: GET requests under
// /SYSPROWCFService/Rest with case-insensitive paths, HTTP 200 with raw XML or "ERROR: ..." text,
// Windows-1252-declared XML, padded numbers, lower-cased roots where real SYSPRO lower-cases them,
// element-level ErrorNumber/ErrorDescription and StatusOfItems counters last.
//
// Implemented business objects: SORTOI, SORQRY, SORTOS, INVQRY, ARSQRY, ARSSCS (Setup/Add and
// Setup/Update), ARSTPY, SORTCH, SORTCL, GENTJL and the COMFND finder (tables SorMaster, ArCustomer,
// InvMaster, ArCshJnlDet and GenJournalCtl). Any other business object gets the "e.net exception
// 100000" error that real SYSPRO gives for an unknown or unlicensed one.
//
// Beside the protocol, the server answers the control routes of INTERFACES.md: GET /_sim/state,
// POST /_sim/faults and POST /_sim/clock. Production code never calls them.
package sysprosim
