//! The 2-byte flags field (streaming.rst, "Flags and Option Data Fields").

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// The flags field of a streaming packet. Bit 0 is the least significant bit
/// ("Bit order: 15....0 (15 is MSB)"). Open newtype: the unused bits 12-15 stay
/// representable and are written back as received.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u16);

impl Flags {
    /// Bit 0: "Similar to TCP SYN. Set in the initial packet and in the first
    /// response. FROM_INCLUDED and SIGNATURE_INCLUDED must also be set."
    pub const SYNCHRONIZE: Self = Self(1 << 0);
    /// Bit 1: "Similar to TCP FIN." SIGNATURE_INCLUDED must also be set.
    pub const CLOSE: Self = Self(1 << 1);
    /// Bit 2: "Abnormal close. SIGNATURE_INCLUDED must also be set."
    pub const RESET: Self = Self(1 << 2);
    /// Bit 3: a signature is the 5th (last) option.
    pub const SIGNATURE_INCLUDED: Self = Self(1 << 3);
    /// Bit 4: "Unused. Requests every packet in the other direction to have
    /// SIGNATURE_INCLUDED".
    pub const SIGNATURE_REQUESTED: Self = Self(1 << 4);
    /// Bit 5: the sender's Destination is the 2nd option.
    pub const FROM_INCLUDED: Self = Self(1 << 5);
    /// Bit 6: a 2-byte delay in milliseconds is the 1st option.
    pub const DELAY_REQUESTED: Self = Self(1 << 6);
    /// Bit 7: a 2-byte maximum payload length is the 3rd option.
    pub const MAX_PACKET_SIZE_INCLUDED: Self = Self(1 << 7);
    /// Bit 8: "Unused or ignored; the interactive profile is unimplemented."
    pub const PROFILE_INTERACTIVE: Self = Self(1 << 8);
    /// Bit 9: "Unused except by ping programs."
    pub const ECHO: Self = Self(1 << 9);
    /// Bit 10: "tells the recipient to ignore the ackThrough field".
    pub const NO_ACK: Self = Self(1 << 10);
    /// Bit 11: an offline signature (LS2 OfflineSig) is the 4th option.
    pub const OFFLINE_SIGNATURE: Self = Self(1 << 11);

    /// The flags that announce an option; on the wire they follow the options
    /// actually present in a [`Packet`](crate::Packet).
    pub const OPTION_BITS: Self = Self(
        Self::DELAY_REQUESTED.0
            | Self::FROM_INCLUDED.0
            | Self::MAX_PACKET_SIZE_INCLUDED.0
            | Self::OFFLINE_SIGNATURE.0
            | Self::SIGNATURE_INCLUDED.0,
    );

    /// True if every bit of `other` is set in `self`.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    /// Clears the bits of `other`.
    pub fn remove(&mut self, other: Self) {
        self.0 &= !other.0;
    }
}

impl BitOr for Flags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 12] = [
            "SYNCHRONIZE",
            "CLOSE",
            "RESET",
            "SIGNATURE_INCLUDED",
            "SIGNATURE_REQUESTED",
            "FROM_INCLUDED",
            "DELAY_REQUESTED",
            "MAX_PACKET_SIZE_INCLUDED",
            "PROFILE_INTERACTIVE",
            "ECHO",
            "NO_ACK",
            "OFFLINE_SIGNATURE",
        ];
        write!(f, "Flags({:#06x}", self.0)?;
        let mut sep = ": ";
        for (bit, name) in NAMES.iter().enumerate() {
            if self.0 & (1 << bit) != 0 {
                write!(f, "{sep}{name}")?;
                sep = "|";
            }
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn bits_match_the_spec_table() {
        let all = [
            Flags::SYNCHRONIZE,
            Flags::CLOSE,
            Flags::RESET,
            Flags::SIGNATURE_INCLUDED,
            Flags::SIGNATURE_REQUESTED,
            Flags::FROM_INCLUDED,
            Flags::DELAY_REQUESTED,
            Flags::MAX_PACKET_SIZE_INCLUDED,
            Flags::PROFILE_INTERACTIVE,
            Flags::ECHO,
            Flags::NO_ACK,
            Flags::OFFLINE_SIGNATURE,
        ];
        for (bit, f) in all.iter().enumerate() {
            assert_eq!(f.0, 1u16 << bit, "flag for bit {bit}");
        }
        let mut f = Flags::SYNCHRONIZE | Flags::NO_ACK;
        assert!(f.contains(Flags::NO_ACK));
        f.remove(Flags::NO_ACK);
        assert!(!f.contains(Flags::NO_ACK));
        assert_eq!(
            format!("{:?}", Flags::SYNCHRONIZE | Flags::CLOSE),
            "Flags(0x0003: SYNCHRONIZE|CLOSE)"
        );
    }
}
