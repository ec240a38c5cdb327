"""Domain errors the services raise; each carries a code and a human sentence."""


class ChatError(Exception):
    code = "chat_error"
    status = 400
    message = "The request was refused."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


class InvalidInput(ChatError):
    code = "invalid_input"
    status = 422
    message = "That input is not valid."


class EmptyMessage(InvalidInput):
    code = "message_empty"
    message = "Type a message before sending."


class MessageTooLong(InvalidInput):
    code = "message_too_long"

    def __init__(self, limit: int, length: int) -> None:
        super().__init__(f"Your message is {length:,} characters long; the limit is {limit:,}. Please shorten it.")


class ProductNotFound(ChatError):
    code = "product_not_found"
    status = 404
    message = "There is no such product."


class SessionNotFound(ChatError):
    code = "session_not_found"
    status = 404
    message = "This conversation does not exist or has expired."


class NotSignedIn(ChatError):
    code = "not_signed_in"
    status = 401
    message = "Please sign in again."


class RateLimited(ChatError):
    code = "rate_limited"
    status = 429

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message or f"You are sending too fast. Please wait {retry_after} seconds and try again.")
        self.retry_after = retry_after
