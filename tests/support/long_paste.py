"""A 5,000-character complaint e-mail pasted into the chat: the story first, what went wrong last
(only after the first 4,000 characters, where the page used to cut it)."""
INTRO = ("Hello, I am writing about my order ORD-4400918 for a Samsung 55 inch television, which I bought on your website "
         "on 15 January 2023. I want to explain everything in full, because I have already spent a lot of time on this. ")
STORY = [
    "I chose your shop because a friend recommended it and because the product page said the set would be dispatched within two working days.",
    "The payment went through straight away and I received the confirmation e-mail a few minutes later, with the order summary and the price of 649 pounds.",
    "On the following Monday I got a message saying that the parcel had been handed to the courier and that I would be able to follow it online.",
    "I work from home on Mondays and Wednesdays, so I asked for a weekday slot and made sure somebody would be in to sign for it.",
    "My neighbour, who is retired, also offered to take it in if the courier came while I was out walking the dog in the morning.",
    "The courier sent a text with a two hour window, which I thought was very helpful, and the driver was polite when he arrived.",
    "He carried the box into the hallway, I signed on his handheld device, and he left before I had a chance to open anything.",
    "I should say that the outer box looked fine at first glance, with your logo and the manufacturer's labels on every side.",
    "I had cleared the living room and moved the old set upstairs, because my son wanted it for his bedroom and his games console.",
    "We waited until the evening to unpack it, since the instructions say two people should lift a screen of that size together.",
    "The polystyrene blocks came out easily and the remote control, the batteries and the power cable were all in their little bag.",
    "I also want to mention that I have been a customer for more than six years and I have bought a fridge, a kettle and a laptop from you.",
    "None of those orders ever gave me any trouble, which is why this experience has been so disappointing for the whole family.",
    "My wife had planned a film night for the weekend and the children had been talking about it at school all week.",
    "I have kept every part of the packaging, including the plastic film and the cardboard corners, in case you need to see them.",
    "I have also kept the delivery note, which the driver left on the hall table, and the e-mails from your website.",
]
ENDING = ("But when we lifted the television out of the box, the screen was cracked right across the middle and one corner of the frame was "
          "smashed. It arrived broken: it is damaged beyond use and it does not even turn on. "
          "Please tell me what you will do about this broken television.")


def long_complaint(length: int = 5000) -> str:
    """`length` characters: the introduction, then the story (repeated as needed), then the
    ending with every word that says what went wrong, so only a reader of the last
    thousand characters knows the set arrived broken."""
    body, i = INTRO, 0
    while len(body) + len(ENDING) + 1 < length:
        body += STORY[i % len(STORY)] + " "
        i += 1
    text = (body[: length - len(ENDING) - 1].rstrip() + " " + ENDING)
    return text[:length] if len(text) >= length else text + " " * (length - len(text))
