package syspro

// OrderStatus is a SYSPRO sales order status code (syspro.md §3.2).
type OrderStatus string

// Sales order statuses as SYSPRO codes them.
const (
	OrderStatusOpen                 OrderStatus = "1"
	OrderStatusOpenBackOrder        OrderStatus = "2"
	OrderStatusReleasedBackOrder    OrderStatus = "3"
	OrderStatusInWarehouse          OrderStatus = "4"
	OrderStatusReadyToInvoice       OrderStatus = "8"
	OrderStatusComplete             OrderStatus = "9"
	OrderStatusSuspense             OrderStatus = "S"
	OrderStatusCancelledDuringEntry OrderStatus = "*"
	OrderStatusCancelled            OrderStatus = `\`
)

// Cancelled reports whether the order will never ship, whichever way it was cancelled.
func (s OrderStatus) Cancelled() bool {
	return s == OrderStatusCancelled || s == OrderStatusCancelledDuringEntry
}
