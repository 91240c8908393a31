//! What people see, as plain data: card lines shared by the menu and the terminal, and worst-of summaries.

pub mod card;
