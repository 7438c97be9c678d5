"""The insurance lifecycle: people, enrolment, the medical year, crediting and waiting periods."""
