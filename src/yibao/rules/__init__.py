"""Rules as dated, sourced data and their pure evaluation: settlement-list quality control (4104)
and the review of fee lines (3101–3103). Nothing here reads a database, a file outside the
package, or a clock."""
