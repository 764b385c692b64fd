return { name = ..., file = select(2, ...) ~= nil }
