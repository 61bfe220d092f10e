"""The counter's services on a calendar: dispensing, instructions, REMS dates, advice, dose intensity."""
