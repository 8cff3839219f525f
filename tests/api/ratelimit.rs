//! Rate limits: headers on every answer, 429 over the limit (placeholder for issue 10, point 16).
