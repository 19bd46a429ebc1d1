"""Name lists for synthetic persons: common names in Sweden, by origin, sex and generation."""

from __future__ import annotations

from typing import NamedTuple


def _words(text: str) -> tuple[str, ...]:
    """Split a whitespace-separated list of names."""
    return tuple(text.split())


class Origin(NamedTuple):
    """Names that belong together: given names by sex and generation, and family names.

    Attributes:
        weight: Relative share of families of this origin.
        girls: Given names for girls born after about 2005.
        boys: Given names for boys born after about 2005.
        women: Given names for women born 1955–2000.
        men: Given names for men born 1955–2000.
        families: Family names, most common first.
    """

    weight: int
    girls: tuple[str, ...]
    boys: tuple[str, ...]
    women: tuple[str, ...]
    men: tuple[str, ...]
    families: tuple[str, ...]


SWEDISH = Origin(
    78,
    girls=_words(
        """
Alice Maja Elsa Astrid Wilma Freja Olivia Selma Alma Ella Saga Ebba Vera Agnes Clara
Stella Lilly Ellen Signe Alva Nora Elvira Molly Ines Thea Tyra Emma Ida Julia Linnea
Hanna Moa Nova Lova Ester Edith Iris Meja Hedda Juni Märta Siri Majken Sigrid Tilde
Felicia Matilda Elin Ronja Tuva Smilla Luna Isabelle Sofia Leia Svea Greta Livia
"""
    ),
    boys=_words(
        """
William Liam Noah Hugo Lucas Oliver Oscar Elias Alexander Adam Vincent Axel Leo Ludvig
Theo Nils Alfred Elton Isak Charlie Gustav Harry Melvin Arvid Filip Viktor Olle Sixten
Edvin Loke Frans Malte Ebbe Emil Anton Jacob Albin Sigge Vidar Måns Milo Love Valter
Ville Kevin Melker Wilmer Colin Casper Gabriel Samuel Benjamin Hampus Linus Max Svante
Algot Tage Josef Otto
"""
    ),
    women=_words(
        """
Anna Eva Maria Karin Kristina Lena Sara Emma Kerstin Ingrid Malin Jenny Annika Linda
Susanne Sofia Johanna Helena Camilla Åsa Ulrika Therese Elin Hanna Jessica Cecilia
Anneli Frida Caroline Petra Madeleine Josefin Lisa Matilda Amanda Ida Sandra Emelie
Louise Marie Katarina Monica Sanna Jonna Mia Agneta Ewa Charlotte Lotta Pernilla
Anette Karolina Elisabeth Veronica Sofie Lina Tove Ylva Birgitta Maja
"""
    ),
    men=_words(
        """
Lars Mikael Anders Johan Per Erik Karl Peter Thomas Jan Daniel Fredrik Andreas Stefan
Mattias Marcus Magnus Jonas Martin Niklas Henrik Patrik Björn Christoffer Joakim
Tobias Robert David Emil Sebastian Simon Oskar Viktor Jesper Johannes Gustav
Kristoffer Ola Mats Håkan Ulf Roger Jörgen Pär Linus Rasmus Anton Alexander Filip
Jakob Måns Torbjörn Göran Nils Olof Kent Tommy Mathias
"""
    ),
    families=_words(
        """
Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson
Gustafsson Pettersson Jonsson Jansson Hansson Bengtsson Jönsson Lindberg Jakobsson
Magnusson Olofsson Lindström Lindqvist Lindgren Berg Axelsson Bergström Lundberg Lind
Lundgren Lundqvist Mattsson Berglund Fredriksson Sandberg Henriksson Forsberg Sjöberg
Wallin Engström Eklund Danielsson Lundin Håkansson Björk Bergman Gunnarsson Holm
Wikström Samuelsson Isaksson Fransson Bergqvist Nyström Holmberg Arvidsson Löfgren
Söderberg Nyberg Blomqvist Claesson Nordström Mårtensson Lundström Viklund Björklund
Eliasson Pålsson Berggren Sandström Lund Nordin Ström Åberg Falk Ekström Hermansson
Holmgren Hellström Dahlberg Hedlund Sundberg Sjögren Ek Blom Abrahamsson Martinsson
Öberg Andreasson Strömberg Månsson Åkesson Dahl Lindholm Norberg Holmqvist Strand
Sundqvist Östlund Hedberg
"""
    ),
)

MIDDLE_EAST = Origin(
    10,
    girls=_words(
        """
Amira Maryam Nour Lina Yasmin Aya Zainab Sara Hana Malak Jana Rahaf Sama Lana Dania
Rima
"""
    ),
    boys=_words(
        """
Mohammed Ali Omar Yusuf Adam Ibrahim Hamza Zakaria Elias Amir Ahmad Abdullah Karim
Ismail Rayan Jamal
"""
    ),
    women=_words(
        """
Fatima Amina Leila Yasmin Mariam Nadia Zahra Rana Hiba Noor Samira Dina Layla Sara
Huda Shirin
"""
    ),
    men=_words(
        """
Mohammed Ahmed Ali Hassan Omar Ibrahim Mustafa Hussein Khaled Yousef Karim Samir Tariq
Bilal Mahmoud Reza
"""
    ),
    families=_words(
        """
Mohammed Ali Hassan Ahmed Hussein Ibrahim Mahmoud Khalil Abbas Saleh Yousef Rahimi
Hosseini Karimi Mohammadi Rashid Haddad Khan Aziz Jaber
"""
    ),
)

SOMALI = Origin(
    3,
    girls=_words(
        """
Hafsa Ikran Salma Sumaya Hanan Maryan Ayaan Naima
"""
    ),
    boys=_words(
        """
Abdirahman Yahye Mohamed Abdullahi Khalid Ayub Liban Ilyas
"""
    ),
    women=_words(
        """
Hodan Fadumo Amina Halima Sahra Ifrah Nimo Ayan Hibo
"""
    ),
    men=_words(
        """
Abdi Abdirahman Mohamed Ahmed Hassan Abdullahi Farah Omar
"""
    ),
    families=_words(
        """
Mohamud Abdi Abdullahi Hassan Ali Osman Farah Yusuf Warsame Jama Ahmed Mohamed
"""
    ),
)

FINNISH = Origin(
    2,
    girls=_words(
        """
Aino Ella Emilia Helmi Venla Siiri Aada Iida
"""
    ),
    boys=_words(
        """
Eino Väinö Leo Onni Elias Aleksi Veeti Niilo
"""
    ),
    women=_words(
        """
Sari Päivi Tiina Kaisa Riikka Minna Anu Satu
"""
    ),
    men=_words(
        """
Jukka Mikko Timo Kari Janne Pekka Jari Antti
"""
    ),
    families=_words(
        """
Korhonen Virtanen Mäkinen Nieminen Mäkelä Hämäläinen Laine Heikkinen Koskinen Järvinen
"""
    ),
)

BALKAN = Origin(
    3,
    girls=_words(
        """
Lejla Amina Sara Ajla Emina Lana Nejla Ena
"""
    ),
    boys=_words(
        """
Emir Adin Luka Amar Tarik Dino Noa Alen
"""
    ),
    women=_words(
        """
Amra Lejla Selma Amela Jasmina Ana Marija Ivana Mirela
"""
    ),
    men=_words(
        """
Adnan Emir Senad Mirza Dragan Zoran Goran Damir Edin
"""
    ),
    families=_words(
        """
Hodžić Hadžić Popović Jovanović Petrović Kovačević Nikolić Begić Delić Mehmedović
Marić Babić
"""
    ),
)

TURKISH = Origin(
    2,
    girls=_words(
        """
Elif Zeynep Defne Ecrin Asya Ela Nehir Melis
"""
    ),
    boys=_words(
        """
Yusuf Emir Eymen Mert Kerem Ömer Aras Deniz
"""
    ),
    women=_words(
        """
Ayşe Elif Zeynep Emine Fatma Hatice Derya Esra
"""
    ),
    men=_words(
        """
Mehmet Mustafa Ahmet Ali Hüseyin Murat Emre Kemal
"""
    ),
    families=_words(
        """
Yilmaz Kaya Demir Şahin Çelik Öztürk Aydin Arslan Doğan Kiliç
"""
    ),
)

POLISH = Origin(
    1,
    girls=_words(
        """
Zuzanna Julia Maja Lena Zofia Hanna
"""
    ),
    boys=_words(
        """
Jakub Antoni Szymon Filip Jan Kacper
"""
    ),
    women=_words(
        """
Agnieszka Katarzyna Anna Magdalena Joanna Monika
"""
    ),
    men=_words(
        """
Piotr Tomasz Marcin Paweł Krzysztof Michał
"""
    ),
    families=_words(
        """
Nowak Wójcik Mazur Krawczyk Kaczmarek Zając Król Wieczorek
"""
    ),
)

VIETNAMESE = Origin(
    1,
    girls=_words(
        """
Anh Linh Vy My Ngoc Chi
"""
    ),
    boys=_words(
        """
Minh Bao Khang Nam Huy An
"""
    ),
    women=_words(
        """
Linh Lan Mai Hoa Thu Huong
"""
    ),
    men=_words(
        """
Minh Tuan Hung Duc Quang Long
"""
    ),
    families=_words(
        """
Nguyen Tran Le Pham Hoang Vu Dang Bui
"""
    ),
)

ORIGINS: tuple[Origin, ...] = (
    SWEDISH,
    MIDDLE_EAST,
    SOMALI,
    FINNISH,
    BALKAN,
    TURKISH,
    POLISH,
    VIETNAMESE,
)

STREET_STEMS = _words(
    """
Björk Ek Lind Rönn Gran Tall Ask Hassel Lönn Sjö Berg Strand Äng Kvarn Kyrk Park Lärk
Ljung Blåbärs Lingon Sol Hag Skol Mejeri Smedje Tegel Åker Mosse Vide Klöver Fjäril
Trast Svala Ugglebo Måsviks Kastanje Syren Hägg Fläder Nypon
"""
)
STREET_SUFFIXES = _words(
    """
vägen gatan stigen gränd backen slingan allén torget
"""
)
DISTRICTS = _words(
    """
Exempelstad Norrby Söderby Västerby Österby Kvarnbo Sjövik
"""
)

PLACE_STEMS = _words(
    """
Sol Ek Lind Björk Rönn Gran Tall Ask Al Hassel Lönn Sjö Berg Strand Äng Kvarn Kyrk
Norr Söder Väster Öster Mal Vik Näs Ljung Vass Sälg Fur Bok Alm Lärk Mos Hag Ros Sten
"""
)
PLACE_ENDINGS = _words(
    """
berga dal backe lunda äng vik näs hult torp by sund holm ås mark haga vreten
"""
)

PRESCHOOL_NAMES = _words(
    """
Ekorren Humlan Myran Nyckelpigan Solrosen Blåklockan Trollsländan Igelkotten Lönnen
Kotten Snäckan Vitsippan Tranan Uttern Räven Hästhoven Lärkan Bävern Sjöstjärnan
Ugglan
"""
)
AVDELNING_NAMES = _words(
    """
Solen Månen Stjärnan Regnbågen Molnet Blåbäret Lingonet Ekollonet Vinden Stormen
Norrskenet Kometen
"""
)
